"""Reference cycles among garbage: the watcher, components, labels, sizes, shapes and hints."""
