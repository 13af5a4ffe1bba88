"""Finding stored records: the filters and their query, text and field matching, the histogram,
the lines around one record, and the API's view of a record and of its filters."""
