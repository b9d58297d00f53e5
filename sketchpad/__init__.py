"""sketchpad"""
