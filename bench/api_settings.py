"""Settings for bench/api.py only: the product settings plus a URLconf with a bare view."""

from config.settings import *  # noqa: F403

ROOT_URLCONF = "bench.api_urls"
