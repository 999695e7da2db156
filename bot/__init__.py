"""The citizen bot: one conversation engine, journeys defined once, rendered per channel."""
