"""The analysis report (分析与报告): the latest scoring run summarised over the customers a reader
may see, downloadable as XLSX and PDF, and mailed to managers every week."""
