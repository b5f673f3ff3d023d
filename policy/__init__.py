"""askfirst policy: decides whether a product offer may be made, and says why. Pure; no I/O."""
