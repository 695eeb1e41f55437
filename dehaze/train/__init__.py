"""dehaze.train"""
