//! Integration tests of the poof binary (STUB).
