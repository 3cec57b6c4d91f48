"""E-mail: templates, message composition, delivery, and the jobs that send them."""
