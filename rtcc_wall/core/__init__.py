"""Qt-free, cv2-free core: everything that decides something lives here."""
