"""Tests written from Flask's pattern pages and Quart's how-to guides."""
