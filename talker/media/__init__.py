"""Reading media: probing files (``probe``), decoding frames and audio at fixed rates on the file's clock (``decode``), and finding ffmpeg (``ffmpeg``)."""
