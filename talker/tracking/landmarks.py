"""Named index sets of MediaPipe's 478-point face mesh, shared by tracking and rendering.

One home for every landmark index the code reads, so each stage indexes the mesh by name, never
by magic number (the rule :mod:`talker.motion.code` keeps for the motion channels). Rendering
imports these from here; tracking never imports from rendering.

"Right" and "left" are the subject's own: the right eye appears on the image left in an
unmirrored picture. Chains of points (lid margins, lip contours) run from the subject's right
corner to their left one.
"""

from __future__ import annotations

# --- face outline and midline --------------------------------------------------------------
FOREHEAD = 10  # top of the face oval (its cycle starts here)
CHIN = 152
NOSE_TIP = 1
NOSE_BOTTOM = 2
NOSE_BRIDGE = 168  # between the eyes
FACE_SIDES = (234, 454)  # the oval's widest points, beside the cheekbones: subject's right, left
# Lower silhouette from one cheek (at nose height) round the chin to the other.
LOWER_OVAL = (323, 361, 288, 397, 365, 379, 378, 400, 377, 152, 148, 176, 149, 150, 136, 172, 58, 132, 93)
# Points that do not move with the jaw or lips: nose ridge and base, cheekbones, eye corners.
STABLE = (1, 2, 4, 5, 6, 168, 197, 195, 98, 327, 64, 294, 116, 345, 123, 352, 50, 280, 33, 133, 362, 263)

# --- eyes ----------------------------------------------------------------------------------
RIGHT_EYE_OUTER, RIGHT_EYE_INNER = 33, 133  # subject's right eye, image left
LEFT_EYE_OUTER, LEFT_EYE_INNER = 263, 362  # subject's left eye, image right
RIGHT_EYE_CORNERS = (RIGHT_EYE_OUTER, RIGHT_EYE_INNER)  # outer, inner
LEFT_EYE_CORNERS = (LEFT_EYE_OUTER, LEFT_EYE_INNER)
RIGHT_IRIS_CENTRE = 468  # iris 468-472
LEFT_IRIS_CENTRE = 473  # iris 473-477
RIGHT_EYE_LIDS = (159, 145)  # upper, lower (mid-lid)
LEFT_EYE_LIDS = (386, 374)
# Lid margins from the outer corner to the inner one.
RIGHT_EYE_UPPER = (33, 246, 161, 160, 159, 158, 157, 173, 133)
RIGHT_EYE_LOWER = (33, 7, 163, 144, 145, 153, 154, 155, 133)
LEFT_EYE_UPPER = (263, 466, 388, 387, 386, 385, 384, 398, 362)
LEFT_EYE_LOWER = (263, 249, 390, 373, 374, 380, 381, 382, 362)
# Rings of skin above / below each lid, column-aligned with the lid points between the corners.
RIGHT_LID_RINGS = ((247, 30, 29, 27, 28, 56, 190), (113, 225, 224, 223, 222, 221, 189))
LEFT_LID_RINGS = ((467, 260, 259, 257, 258, 286, 414), (342, 445, 444, 443, 442, 441, 413))
RIGHT_LOWER_RING = (25, 110, 24, 23, 22, 26, 112)
LEFT_LOWER_RING = (255, 339, 254, 253, 252, 256, 341)

# --- brows ---------------------------------------------------------------------------------
# The photo renderer's control points per part of each brow.
RIGHT_BROW = {"inner": (107, 55, 66, 65), "mid": (105, 52), "outer": (70, 46, 63, 53)}
LEFT_BROW = {"inner": (336, 285, 296, 295), "mid": (334, 282), "outer": (300, 276, 293, 283)}
# The pairs the tracker's fallback measures brow height on.
RIGHT_BROW_INNER, LEFT_BROW_INNER = (107, 55), (336, 285)
RIGHT_BROW_MID, LEFT_BROW_MID = (105, 52), (334, 282)
RIGHT_BROW_OUTER, LEFT_BROW_OUTER = (70, 46), (300, 276)

# --- mouth ---------------------------------------------------------------------------------
MOUTH_RIGHT, MOUTH_LEFT = 61, 291  # outer corners
MOUTH_INNER_RIGHT, MOUTH_INNER_LEFT = 78, 308  # inner corners
UPPER_INNER_LIP, LOWER_INNER_LIP = 13, 14  # mid-points of the inner lip contours
UPPER_LIP_OUTER, LOWER_LIP_OUTER = 0, 17  # mid-points of the outer lip contours
# Lip contours from corner to corner (inner: 78 to 308, outer: 61 to 291).
INNER_UPPER = (78, 191, 80, 81, 82, 13, 312, 311, 310, 415, 308)
INNER_LOWER = (78, 95, 88, 178, 87, 14, 317, 402, 318, 324, 308)
OUTER_UPPER = (61, 185, 40, 39, 37, 0, 267, 269, 270, 409, 291)
OUTER_LOWER = (61, 146, 91, 181, 84, 17, 314, 405, 321, 375, 291)
CHEEKS = (50, 280, 205, 425, 187, 411)  # cheek skin, where the face's skin colour is sampled

assert INNER_UPPER[0] == INNER_LOWER[0] == MOUTH_INNER_RIGHT and INNER_UPPER[-1] == INNER_LOWER[-1] == MOUTH_INNER_LEFT
assert OUTER_UPPER[0] == OUTER_LOWER[0] == MOUTH_RIGHT and OUTER_UPPER[-1] == OUTER_LOWER[-1] == MOUTH_LEFT
assert (RIGHT_EYE_UPPER[0], RIGHT_EYE_UPPER[-1]) == (RIGHT_EYE_LOWER[0], RIGHT_EYE_LOWER[-1]) == RIGHT_EYE_CORNERS
assert (LEFT_EYE_UPPER[0], LEFT_EYE_UPPER[-1]) == (LEFT_EYE_LOWER[0], LEFT_EYE_LOWER[-1]) == LEFT_EYE_CORNERS
