"""Model and init: the decoder (every parameter has a role) and the init schemes that map
(role, shape, depth) to a distribution."""
