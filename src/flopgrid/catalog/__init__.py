"""Catalog: accelerators, models and clusters, each figure with its source."""

from flopgrid.catalog.accelerator import DTYPES, Accelerator
from flopgrid.catalog.accelerators import ACCELERATORS, ALIASES, HARDWARE_NAMES, get_accelerator
from flopgrid.catalog.cluster import CLUSTERS, Cluster, default_cluster, load_cluster
from flopgrid.catalog.framework import (
    DEFAULT_FRAMEWORK,
    FrameworkProfile,
    framework_names,
    get_framework,
    load_framework,
)
from flopgrid.catalog.model_loading import get_model, load_model
from flopgrid.catalog.model_spec import MLASpec, ModelSpec, MoESpec
from flopgrid.catalog.models import MODELS

__all__ = [
    "ACCELERATORS", "ALIASES", "CLUSTERS", "DEFAULT_FRAMEWORK", "DTYPES", "HARDWARE_NAMES", "MODELS",
    "Accelerator", "Cluster", "FrameworkProfile", "MLASpec", "ModelSpec", "MoESpec",
    "default_cluster", "framework_names", "get_accelerator", "get_framework", "get_model", "load_cluster",
    "load_framework", "load_model",
]
