"""Writing the output: H.264/AAC mux with disclosure metadata (``encode``) and the visible AI-generated label (``label``)."""
