"""Inbound mail posted by an email service provider (django-anymail)."""
