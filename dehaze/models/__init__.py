"""dehaze.models"""
