"""cgroups of a container: v1, v2 and the hybrid layout (see layout.py).

``manager_for(spec_linux, container_id)`` and ``from_state(paths)`` give a
Manager (manager.py: its lifecycle).  One small module per controller maps
linux.resources to (file, value) pairs and parses the statistics files; the
manager routes them to the right hierarchy.
"""
from .errors import CgroupError
from .manager import Manager, from_state, manager_for

__all__ = ["CgroupError", "Manager", "from_state", "manager_for"]
