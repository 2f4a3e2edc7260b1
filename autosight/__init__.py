"""Helpers of the AutoSight pipeline: modules that are not entry points and not the seed's seven modules."""
