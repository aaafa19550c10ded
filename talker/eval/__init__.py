"""Offline quality measures for generated talking heads (lip sync first)."""
