"""hccbayes.reports"""
