"""The plain-words guide: what each part of the tab on screen shows, for someone alone with it.

Opened from Help > What am I seeing? (F1) and from the button of the same name
beside the Explorer's attack controls. ``GUIDE`` is the Explorer's (colours named
here are the ones ``panels`` draws), ``TRAIN_GUIDE`` the Train tab's (its form,
buttons, plots and table); F1 shows the one of the tab the user is on.
"""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QMessageBox, QWidget

GUIDE = """<h3>What am I seeing?</h3>
<p>A neural network looks at an image and says what it shows. An <b>adversarial attack</b>
changes every pixel by a tiny amount, too little for you to notice, chosen to make the
network change its answer.</p>
<ul>
<li><b>Top line</b>: the network's answer for the original image, then for the attacked
one, and whether the attack <b>fooled</b> it (red) or the network <b>holds</b> (green).</li>
<li><b>Three pictures</b>: the original; the change the attack made, magnified
(<span style='color:#d62728'>red</span> = a pixel made brighter,
<span style='color:#1f77b4'>blue</span> = darker, white = unchanged); the attacked image.</li>
<li><b>Bars</b>: how sure the network is of each class. <span style='color:#d62728'>Red</span>:
its answer; green outline: the true class; <span style='color:#ff7f0e'>orange</span>: the
target of a targeted attack; grey: the others. The third chart is a second network
(often the defended one) shown the same attacked image.</li>
<li><b>Defended</b> means <b>trained on attacked images</b>: the defended network
(WR_FGSM, or PGD training) was shown attacked copies of its training images and learned to
answer them right. It resists attacks up to about the size it was trained for; its card
says how much it was measured to resist.</li>
<li><b>Epsilon</b>: the slider sets how much each pixel may change. Drag it.
Pixels go from 0 (black) to 1 (white), so an epsilon of <b>0.1</b> moves each pixel by at
most a tenth of that, about 26 of 255 grey levels: on a digit, a faint grey haze over the
black background, easy to see once you look for it; photo models are fooled by far less
(2/255, invisible). Beside it,
the <b>smallest change that flips it</b>: DeepFool and C&amp;W search for the least change
that makes the network change its answer (FGSM spends epsilon on every pixel).</li>
<li><b>Feature Squeezing</b>: the network sees a simplified copy of the image, and a
detector flags images whose answer changes when simplified. It stops a naive attack, and
costs clean accuracy (the line under the verdict says how much, measured). Tick
<b>attacker knows it</b> for the strongest adaptive attack: BPDA (the gradient through the
squeezer), the attack made on the plain model (transfer), and Square (no gradient at all);
the window shows the worst of them, computed in the background.</li>
<li><b>Curve</b>: the network's confidence as epsilon grows; the dotted line is where
the attack first wins.</li>
</ul>
<p>Keys: Left/Right or Space step through the sample images; 1, 2, 3, 4 choose FGSM, BIM,
PGD, APGD-CE; F11 presenter mode (C there shows the curve), Esc leaves it.</p>
<p>New to this? <b>Help &gt; Walk-through</b> (or the Walk-through button) shows it in six
steps.</p>"""


TRAIN_GUIDE = """<h3>What am I seeing? The Train tab</h3>
<p>Here you train a neural network of your own, with or without a defense against attacks,
and see how well it holds.</p>
<ul>
<li><b>Preset</b>: fills the whole form. <b>Quick look</b> takes about a minute (1,000
training images, 3 epochs); the others take longer. Change any field after.</li>
<li><b>Dataset</b>: the images it learns from (an entry ending in "..." reads a folder you
choose with Browse). <b>Architecture</b>: the network's design; small_cnn is the fastest.</li>
<li><b>Defense</b>: <b>none</b> is plain training; the others show the network attacked
copies of its training images so that it learns to answer them right (WR_FGSM is the
paper's; its <b>a1</b> slider sets how much the attacked images count).
<b>Training epsilon</b>: how big those attacks are, on the Explorer's scale.</li>
<li><b>Epochs (max)</b>: passes over the training images (a run may end sooner when it
stops getting better). <b>Training images</b>: use only this many, for a quicker try.
<b>Expert settings</b>: the rest, each with a line on what it does.</li>
<li><b>Train</b> starts a run (or queues it); <b>Stop</b> ends it within one batch and keeps
its best epoch so far. <b>Queue a1 sweep</b> trains five WR_FGSM models (a1 = 0 to 1) for
Figure 3. The bar above the plots says how far a run is and how long is left; a yellow
band warns when the defense only looks robust.</li>
<li><b>Training loss</b>, after each epoch: how wrong the network still is on its training
images; it should fall (L_ori: the clean images, L_adv: their FGSM-attacked copies).</li>
<li><b>Validation accuracy</b>, after each epoch: how often it is right on images kept
aside, clean, under FGSM and under PGD (a stronger attack). FGSM far above PGD: the defense
only looks robust.</li>
<li><b>Figure 3</b>: after an a1 sweep, each model's accuracy by its a1, as in the paper
(bars: 95% confidence intervals).</li>
<li><b>Table</b>: one row per run, earlier ones too: its accuracy on held-out images, clean
and under FGSM and PGD at the epsilon in <b>eps</b>; hover a row for the rest.
<b>Open in Explorer</b> attacks the last model trained; <b>Export results...</b> writes the
table as a CSV file. The box at the bottom logs each step.</li>
</ul>
<p>Keys: Ctrl+Tab switches between the two tabs; F1 shows this guide for the tab you are
on.</p>"""


def show_guide(parent: QWidget, tab: str = "explorer") -> QMessageBox:
    """Open the guide to ``tab`` ("explorer" or "train"; not modal: the window stays
    usable beside it)."""
    text = TRAIN_GUIDE if tab == "train" else GUIDE
    title = "What am I seeing? (Train a defense)" if tab == "train" else "What am I seeing?"
    box = QMessageBox(QMessageBox.Icon.NoIcon, title, text, parent=parent)
    box.setTextFormat(Qt.TextFormat.RichText)
    box.setWindowModality(Qt.WindowModality.NonModal)
    box.show()
    return box
