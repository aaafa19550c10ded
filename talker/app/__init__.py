"""The Gradio web demo: settings (``config``), the page (``ui``), and the worker process that runs generation jobs off the web server (``worker``, ``jobs``)."""
