"""The render stage: 61-d motion in, RGB frames out (``base.Renderer``): the clip renderer re-times the reference's own frames (``clip``), the photo renderer animates a still (``photo``)."""
