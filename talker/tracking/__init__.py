"""Face tracking: video frames → MediaPipe landmarks → the 61-d motion code (``tracker``), the
named landmark index sets every stage reads the face mesh by (``landmarks``), the landmark
geometry the tracker and the renderers share (``geometry``), the model file's lookup
(``landmarker_model``) and the One-Euro smoothing of the tracks (``smoothing``)."""
