"""dehaze.data"""
