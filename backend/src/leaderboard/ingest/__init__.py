"""The write path: validation, write-ahead log, buffer, flusher, stream consumer (see runtime.py)."""
