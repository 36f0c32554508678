"""The applications: the picture API, the command line, the web page, films and camera raws."""
