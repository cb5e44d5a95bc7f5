"""flopgrid: an independent system operator (ISO) for AI compute.

Layers (lower never import higher): catalog -> flops -> perf / reliability -> meter,
market -> sim -> dispatch / store / api -> cli. See DESIGN.md.
"""

__version__ = "0.1.0"
