"""Landmark index sets of MediaPipe's 478-point face mesh used by the renderers."""

from __future__ import annotations

# Lower silhouette from one cheek (at nose height) round the chin to the other.
LOWER_OVAL = (323, 361, 288, 397, 365, 379, 378, 400, 377, 152, 148, 176, 149, 150, 136, 172, 58, 132, 93)
CHIN = 152
NOSE_TIP = 1
NOSE_BOTTOM = 2
FOREHEAD = 10
# Points that do not move with the jaw or lips: nose ridge and base, cheekbones, eye corners.
STABLE = (1, 2, 4, 5, 6, 168, 197, 195, 98, 327, 64, 294, 116, 345, 123, 352, 50, 280, 33, 133, 362, 263)
