"""Test helpers shared across test packages (netns: WebRTC in a private network namespace)."""
