"""Dubbing: an existing video made to say new words, every frame kept, only the mouth changed.

``source`` analyses the video (every frame's face, cached), ``timeline`` says which source
frame plays at each output frame, ``render`` paints the new mouth, ``run`` wires them with the
speech stage; ``TalkerPipeline.dub`` is the entry point the CLI, the app and the API share.
"""
