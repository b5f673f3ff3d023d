"""Tests for the speech package."""
