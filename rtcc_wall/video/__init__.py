"""Video sources and camera workers. The only layer that imports cv2."""
