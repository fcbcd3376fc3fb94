"""Bench-only URLconf (bench/load/settings.py): the portal's URLs plus the ceiling view."""

from django.urls import path

from eldercare.urls import urlpatterns as portal_urlpatterns

from .ceiling import ceiling

urlpatterns = [path("_bench/ceiling/", ceiling, name="bench-ceiling"), *portal_urlpatterns]
