"""The Explorer's engine, Qt-free: the session, its sweep cache, opening files, slides."""
