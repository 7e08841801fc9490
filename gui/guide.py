"""The plain-words guide: what each part of the Explorer shows, for someone alone with it.

Opened from Help > What am I seeing? (F1) and from the button of the same name
beside the attack controls. Colours named here are the ones ``panels`` draws.
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


def show_guide(parent: QWidget) -> QMessageBox:
    """Open the guide (not modal: the window stays usable beside it)."""
    box = QMessageBox(QMessageBox.Icon.NoIcon, "What am I seeing?", GUIDE, parent=parent)
    box.setTextFormat(Qt.TextFormat.RichText)
    box.setWindowModality(Qt.WindowModality.NonModal)
    box.show()
    return box
