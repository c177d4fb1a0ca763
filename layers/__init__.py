"""innosite's domain: the factor layers of Zhang (2022) and the presets for each scale."""
