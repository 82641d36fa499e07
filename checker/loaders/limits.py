"""Bounds on untrusted input, shared by the YAML and JSON loaders."""

from __future__ import annotations

# CloudFormation accepts templates up to 1 MB from S3; ten times that leaves
# room for generated templates while keeping a hostile file from eating memory.
MAX_FILE_BYTES = 10 * 1024 * 1024
# Real templates nest a few dozen levels; Python recursion and libyaml (1000)
# set the hard ceilings, this keeps well below both.
MAX_DEPTH = 200
# Bounds alias expansion ("billion laughs"): a 1 MB template has ~100k nodes.
MAX_NODES = 2_000_000
