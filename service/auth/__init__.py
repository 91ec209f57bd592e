"""API keys: how they are made, stored (as hashes) and checked."""
