import logging

logging.getLogger("math_verify").setLevel(logging.ERROR)  # it warns on every call with timeouts off (we kill workers instead)
