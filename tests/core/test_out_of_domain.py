"""Issue 24, 12: a colour picture on a plain background (a logo) given to a model of small
grey images is called out, as a colour photo is; a digit written in ink (blue or black) is not."""

from __future__ import annotations

import torch

from fgsm_studio.core.explorer.opening import out_of_domain


def logo(size: int = 200) -> torch.Tensor:
    """White, with a red block and a blue block: about 15% of the image, two hues."""
    x = torch.ones(3, size, size)
    x[:, 40:100, 40:100] = torch.tensor([0.9, 0.1, 0.1])[:, None, None]
    x[:, 110:160, 100:170] = torch.tensor([0.1, 0.2, 0.9])[:, None, None]
    return x


def seven(ink: tuple[float, float, float]) -> torch.Tensor:
    """A thin 7 in ``ink`` on light grey paper."""
    y = torch.full((3, 200, 200), 0.92)
    colour = torch.tensor(ink)[:, None, None]
    y[:, 40:50, 40:160] = colour
    y[:, 50:170, 140:150] = colour
    return y


def grey(x: torch.Tensor) -> torch.Tensor:
    return x.mean(0, keepdim=True).expand(3, -1, -1)


def test_a_logo_on_white_is_called_out_for_a_grey_digit_model():
    assert out_of_domain(logo(), in_channels=1, image_size=28)
    one_hue = torch.ones(3, 200, 200)
    one_hue[:, 20:180, 20:180] = torch.tensor([0.9, 0.2, 0.1])[:, None, None]  # a big red mark
    assert out_of_domain(one_hue, in_channels=1, image_size=28)


def test_digits_in_ink_and_grey_pictures_are_not():
    assert not out_of_domain(seven((0.1, 0.2, 0.7)), in_channels=1, image_size=28)  # blue pen
    assert not out_of_domain(seven((0.1, 0.1, 0.1)), in_channels=1, image_size=28)  # black
    assert not out_of_domain(grey(logo()), in_channels=1, image_size=28)
    assert not out_of_domain(torch.ones(3, 64, 64), in_channels=1, image_size=28)  # blank
    assert not out_of_domain(logo(), in_channels=3, image_size=32)  # a colour model
