"""Probes that collect raw figures in and around a measured child; they never render or judge."""
