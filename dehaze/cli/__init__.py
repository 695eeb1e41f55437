"""dehaze.cli"""
