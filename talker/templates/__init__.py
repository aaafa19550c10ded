"""Templates: named references with their licence and consent, bundled or added by a deployer (``store``)."""
