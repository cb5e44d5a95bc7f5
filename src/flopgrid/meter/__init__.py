"""Live metering of PyTorch training: MFU, HFU, goodput and badput (needs the `meter` extra)."""
