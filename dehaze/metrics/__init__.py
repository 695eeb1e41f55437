"""dehaze.metrics"""
