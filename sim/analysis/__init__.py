"""Reading results: targets and attainment, comparisons, sensitivity indices, stylised facts,
reports and plots. It works on frames and never runs the model."""
