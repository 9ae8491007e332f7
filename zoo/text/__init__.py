"""Text encoders: all-MiniLM-L6-v2 through keras-hub, and hashed word / n-gram ids."""
