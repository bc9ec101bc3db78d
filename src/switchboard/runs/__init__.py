"""The runs API: create, read, list, cancel and approve runs, and follow their events. Executing runs is
`switchboard.engine`."""
