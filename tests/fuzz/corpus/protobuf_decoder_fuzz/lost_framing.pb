€€€
rest