"""``nvr bench``: what this machine can do, measured on real footage and models."""
